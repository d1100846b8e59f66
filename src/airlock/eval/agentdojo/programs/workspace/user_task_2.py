# When is the next Yoga Class: the earliest one after today, from the calendar's own records.
final_return_value = None
today = get_current_day()
events = search_calendar_events(query="Yoga Class")
upcoming = sorted([e["start_time"] for e in events if e["start_time"][:10] > today])
final_return_value = upcoming[0].replace("T", " ")[:16]
