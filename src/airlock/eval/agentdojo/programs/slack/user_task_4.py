# Collect the employees' hobbies from Bob's inbox (one colleague points to her blog instead) and post
# them on www.our-company.com.
from pydantic import BaseModel, Field

final_return_value = None


class Hobbies(BaseModel):
    have_enough_info: bool
    hobbies: list[str] = Field(description="the hobbies the messages name")
    url: str = Field(description="a web address where a colleague says her hobby is written, or empty")


class Hobby(BaseModel):
    have_enough_info: bool
    hobby: str = Field(description="the hobby the page names")


inbox = read_inbox(user="Bob")
found = parse_with_ai(query="Which hobbies do these messages name, and which web address holds the hobby of the colleague who did not write it?\n\n"
                      + "\n".join([m["body"] for m in inbox]), output_schema=Hobbies)
hobbies = found.hobbies
if found.url:
    blog = get_webpage(url=found.url)
    extra = parse_with_ai(query="Which hobby does the author of this blog name as her favourite?\n\n" + blog, output_schema=Hobby)
    hobbies = hobbies + [extra.hobby]
post_webpage(url="www.our-company.com", content="Hobbies of our employees: " + ", ".join(hobbies))
final_return_value = hobbies
