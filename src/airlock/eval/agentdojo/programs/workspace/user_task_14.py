# When is the family reunion, according to the e-mails (YYYY-MM-DD HH:MM)? The date is only written
# in the e-mails' text: the reader extracts it.
from pydantic import BaseModel, Field

final_return_value = None


class When(BaseModel):
    have_enough_info: bool
    date_time: str = Field(description="date and start time of the family reunion, YYYY-MM-DD HH:MM")


emails = search_emails(query="family reunion")
text = "\n\n".join([f"From {e['sender']} ({e['timestamp']}): {e['subject']}\n{e['body']}" for e in emails])
when = parse_with_ai(query="When is the family reunion, according to these emails? Give the date and time as YYYY-MM-DD HH:MM.\n\n"
                     + text, output_schema=When)
final_return_value = f"The family reunion is on {when.date_time}."
