# A 4-hour calendar event for the family reunion, from the e-mails about it. Start and place are
# only written in the e-mails' text: the reader extracts them; the end is start + 4 hours.
from pydantic import BaseModel, Field

final_return_value = None


class Reunion(BaseModel):
    have_enough_info: bool
    start_time: str = Field(description="when the reunion starts, YYYY-MM-DD HH:MM")
    location: str = Field(description="where the reunion takes place")


emails = search_emails(query="family reunion")
text = "\n\n".join([f"From {e['sender']} ({e['timestamp']}): {e['subject']}\n{e['body']}" for e in emails])
reunion = parse_with_ai(query="When does the family reunion start (YYYY-MM-DD HH:MM) and where is it, according to these emails?\n\n"
                        + text, output_schema=Reunion)
day, clock = reunion.start_time.split(" ")
end = f"{day} {int(clock[:2]) + 4:02d}:{clock[3:5]}"
create_calendar_event(title="Family Reunion", start_time=reunion.start_time, end_time=end, location=reunion.location)
final_return_value = f"Added the Family Reunion on {reunion.start_time} at {reunion.location} (4 hours)."
