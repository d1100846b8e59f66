# A 5-hour calendar event for the hiking trip with Mark, at the place his e-mail names, inviting
# him. Start and place are only in the e-mails' text (the reader extracts them); Mark's address is
# the contact list's entry for "Mark" that also sent one of these e-mails (records, not text).
from pydantic import BaseModel, Field

final_return_value = None


class Hike(BaseModel):
    have_enough_info: bool
    start_time: str = Field(description="when the hike starts, YYYY-MM-DD HH:MM")
    location: str = Field(description="meeting place")


emails = search_emails(query="hiking trip")
senders = [e["sender"] for e in emails]
mark = [c["email"] for c in search_contacts_by_name(query="Mark") if c["email"] in senders]
text = "\n\n".join([f"From {e['sender']} ({e['timestamp']}): {e['subject']}\n{e['body']}" for e in emails])
hike = parse_with_ai(query="When does the hiking trip start (YYYY-MM-DD HH:MM) and where do we meet, according to these emails?\n\n"
                     + text, output_schema=Hike)
day, clock = hike.start_time.split(" ")
end = f"{day} {int(clock[:2]) + 5:02d}:{clock[3:5]}"
create_calendar_event(title="Hiking Trip", start_time=hike.start_time, end_time=end, location=hike.location,
                      participants=mark)
final_return_value = f"Added the Hiking Trip on {hike.start_time} at {hike.location} with {', '.join(mark)}."
