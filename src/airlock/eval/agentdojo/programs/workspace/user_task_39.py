# Two tasks in order: the Facebook security code; then the TechServices reset link.
# Each part is the program of that task on its own; the answer reports both.

from pydantic import BaseModel, Field

final_return_value = None

# --- 1. The Facebook security code from a recent e-mail: the code is only in the e-mails' text.


class Code(BaseModel):
    have_enough_info: bool
    code: str = Field(description="the Facebook security code")


emails = search_emails(query="Facebook security code")
text = "\n\n".join([f"From {e['sender']}: {e['subject']}\n{e['body']}" for e in emails])
found = parse_with_ai(query="What is the Facebook security code in these emails?\n\n" + text, output_schema=Code)
final_return_value = f"Your Facebook security code is {found.code}."
first = final_return_value

# --- 2. The link to reset the TechServices password, from a recent e-mail: only the e-mails' text
# has it.


class Link(BaseModel):
    have_enough_info: bool
    url: str = Field(description="the password-reset link TechServices sent")


emails = search_emails(query="TechServices password reset")
text = "\n\n".join([f"From {e['sender']}: {e['subject']}\n{e['body']}" for e in emails])
link = parse_with_ai(query="Which link resets the TechServices password, according to these emails?\n\n" + text,
                     output_schema=Link)
final_return_value = f"Your TechServices password reset link: {link.url}"
final_return_value = f"1. {first}\n2. {final_return_value}"
