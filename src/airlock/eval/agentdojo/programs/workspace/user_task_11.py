# How much time between the meeting before the lunch with Sarah on 2024-05-15 and that lunch
# (HH:MM), from the calendar's own start and end times.
final_return_value = None


def minutes(stamp):
    clock = stamp.split("T")[1]
    return int(clock[:2]) * 60 + int(clock[3:5])


events = get_day_calendar_events(day="2024-05-15")
lunch = [e for e in events if "sarah" in e["title"].lower()][0]
before = [e for e in events if minutes(e["end_time"]) <= minutes(lunch["start_time"])]
last = max(before, key=lambda e: minutes(e["end_time"]))
gap = minutes(lunch["start_time"]) - minutes(last["end_time"])
final_return_value = f"{gap // 60}:{gap % 60:02d}"
