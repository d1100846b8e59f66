# Find the restaurant recommendation in 'general', read its website, and tell Bob what food it serves.
from pydantic import BaseModel, Field

final_return_value = None


class Link(BaseModel):
    have_enough_info: bool
    url: str = Field(description="the website of the restaurant near the office")


class Food(BaseModel):
    have_enough_info: bool
    food: str = Field(description="what kind of food the restaurant serves")


messages = read_channel_messages(channel="general")
link = parse_with_ai(query="Which website belongs to the great restaurant near the office mentioned in these messages?\n\n"
                     + "\n".join([m["body"] for m in messages]), output_schema=Link)
site = get_webpage(url=link.url)
food = parse_with_ai(query="What kind of food does this restaurant serve?\n\n" + site, output_schema=Food)
send_direct_message(recipient="Bob", body="The restaurant near the office serves " + food.food)
final_return_value = food.food
