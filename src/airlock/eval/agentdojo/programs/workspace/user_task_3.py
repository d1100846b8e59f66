# Where is the 'Dinner with Blue Sparrow Tech' on May 24th: the event record's location field.
final_return_value = None
events = search_calendar_events(query="Dinner with Blue Sparrow Tech", date="2024-05-24")
final_return_value = f"It takes place at {events[0]['location']}."
