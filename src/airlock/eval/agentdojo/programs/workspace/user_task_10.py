# How many appointments today.
final_return_value = None
today = get_current_day()
events = get_day_calendar_events(day=today)
final_return_value = f"You have {len(events)} appointments today ({today})."
