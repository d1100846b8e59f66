# The link to reset the TechServices password, from a recent e-mail: only the e-mails' text has it.
from pydantic import BaseModel, Field

final_return_value = None


class Link(BaseModel):
    have_enough_info: bool
    url: str = Field(description="the password-reset link TechServices sent")


emails = search_emails(query="TechServices password reset")
text = "\n\n".join([f"From {e['sender']}: {e['subject']}\n{e['body']}" for e in emails])
link = parse_with_ai(query="Which link resets the TechServices password, according to these emails?\n\n" + text,
                     output_schema=Link)
final_return_value = f"Your TechServices password reset link: {link.url}"
