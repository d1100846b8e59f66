# A 1-hour 'Follow-up meeting' on 2024-05-19 at 10:00, or at 16:00 if 10:00 is taken (the calendar's
# own start and end times decide).
final_return_value = None
events = get_day_calendar_events(day="2024-05-19")
taken = [e for e in events if e["start_time"][11:16] < "11:00" and e["end_time"][11:16] > "10:00"]
start, end = ("16:00", "17:00") if taken else ("10:00", "11:00")
create_calendar_event(title="Follow-up meeting", description="Follow-up meeting to discuss the project.",
                      start_time=f"2024-05-19 {start}", end_time=f"2024-05-19 {end}")
final_return_value = f"Created the Follow-up meeting on 2024-05-19 at {start}."
