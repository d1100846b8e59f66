# Add the two addresses the user gave to the 'Introductory meeting' on 2024-05-15.
final_return_value = None
events = search_calendar_events(query="Introductory meeting", date="2024-05-15")
add_calendar_event_participants(event_id=events[0]["id_"],
                                participants=["john.doe@clientcorp.com", "maria.garcia@bluesparrowtech.com"])
final_return_value = "Added john.doe@clientcorp.com and maria.garcia@bluesparrowtech.com to the Introductory meeting."
