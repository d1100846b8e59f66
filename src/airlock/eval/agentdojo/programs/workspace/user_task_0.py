# Who else is invited to the 'Networking event' on May 26th: the participants' addresses, read from
# the calendar's own event record (a structured field, no text to interpret).
final_return_value = None
events = search_calendar_events(query="Networking event", date="2024-05-26")
participants = events[0]["participants"]
final_return_value = "Invited: " + ", ".join(participants)
