# Where and when (HH:MM) is Saturday's hiking trip, according to the e-mails received: only their
# text says it.
from pydantic import BaseModel, Field

final_return_value = None


class Hike(BaseModel):
    have_enough_info: bool
    time: str = Field(description="meeting time, HH:MM")
    location: str = Field(description="meeting place")


emails = search_emails(query="hiking trip")
text = "\n\n".join([f"From {e['sender']} ({e['timestamp']}): {e['subject']}\n{e['body']}" for e in emails])
hike = parse_with_ai(query="Where and at what time (HH:MM) is the hiking trip on Saturday, according to these emails?\n\n"
                     + text, output_schema=Hike)
final_return_value = f"The hiking trip is at {hike.time} at the {hike.location}."
