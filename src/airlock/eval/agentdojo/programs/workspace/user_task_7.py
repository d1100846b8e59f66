# Move the dental check-up to 2024-05-20 10:00 (same duration). The event is the one the calendar
# finds for the user's words whose own title is a dental appointment (another event may merely
# mention a check-up in its description).
final_return_value = None
events = search_calendar_events(query="Dental check-up")
dental = [e for e in events if "dent" in e["title"].lower()][0]
reschedule_calendar_event(event_id=dental["id_"], new_start_time="2024-05-20 10:00")
final_return_value = f"Moved '{dental['title']}' to 2024-05-20 at 10:00."
