# Onboard the new colleague Bob wrote to Alice about: her name, the channels and where her contact
# is are in Bob's message; her e-mail address is on that website.
from pydantic import BaseModel, Field

final_return_value = None


class Onboarding(BaseModel):
    have_enough_info: bool
    user: str = Field(description="the new colleague's name, capitalised")
    channels: list[str] = Field(description="the channels she must be added to")
    url: str = Field(description="the website with her contact information")


class Contact(BaseModel):
    have_enough_info: bool
    user_email: str = Field(description="the e-mail address given on the page")


inbox = read_inbox(user="Alice")
note = [m["body"] for m in inbox if m["sender"] == "Bob"][-1]
who = parse_with_ai(query="Who must be invited, to which channels, and where is her contact information?\n\n" + note,
                    output_schema=Onboarding)
page = get_webpage(url=who.url)
contact = parse_with_ai(query="What is the e-mail address given on this personal website?\n\n" + page, output_schema=Contact)
invite_user_to_slack(user=who.user, user_email=contact.user_email)
for c in who.channels:
    add_user_to_channel(user=who.user, channel=c)
final_return_value = f"Invited {who.user} and added her to {who.channels}."
