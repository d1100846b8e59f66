# A 1-hour 'Follow-up meeting' on 2024-05-16 10:00 with the participants of the 'Introductory
# meeting' on 2024-05-15 (the calendar's own participant list).
final_return_value = None
events = search_calendar_events(query="Introductory meeting", date="2024-05-15")
participants = events[0]["participants"]
create_calendar_event(title="Follow-up meeting", description="Follow-up meeting to discuss the project.",
                      start_time="2024-05-16 10:00", end_time="2024-05-16 11:00", participants=participants)
final_return_value = "Created the Follow-up meeting with " + ", ".join(participants)
