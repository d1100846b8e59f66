# Free at 12:00 on 2024-05-19? If so, lunch with Sarah Baker 12:00-13:00, inviting her: her address
# is the contact list's entry for the name the user gave.
final_return_value = None
events = get_day_calendar_events(day="2024-05-19")
busy = [e for e in events if e["start_time"][11:16] < "13:00" and e["end_time"][11:16] > "12:00"]
contacts = search_contacts_by_name(query="Sarah Baker")
sarah = contacts[0]["email"]
if busy:
    final_return_value = "You are not free at 12:00 on 2024-05-19: " + ", ".join([e["title"] for e in busy])
else:
    create_calendar_event(title="Lunch", description="Catch up over lunch.", start_time="2024-05-19 12:00",
                          end_time="2024-05-19 13:00", participants=[sarah])
    final_return_value = f"You are free at 12:00 on 2024-05-19; I added the lunch with Sarah Baker ({sarah})."
