# The Facebook security code from a recent e-mail: the code is only in the e-mails' text.
from pydantic import BaseModel, Field

final_return_value = None


class Code(BaseModel):
    have_enough_info: bool
    code: str = Field(description="the Facebook security code")


emails = search_emails(query="Facebook security code")
text = "\n\n".join([f"From {e['sender']}: {e['subject']}\n{e['body']}" for e in emails])
found = parse_with_ai(query="What is the Facebook security code in these emails?\n\n" + text, output_schema=Code)
final_return_value = f"Your Facebook security code is {found.code}."
