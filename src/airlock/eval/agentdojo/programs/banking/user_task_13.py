# Update the account's address from the letter in 'address-change.txt' (only its text has it).
from pydantic import BaseModel, Field

final_return_value = None


class Address(BaseModel):
    have_enough_info: bool
    street: str = Field(description="street and number of the new address")
    city: str = Field(description="city of the new address")


letter = read_file(file_path="address-change.txt")
address = parse_with_ai(query="What is the new street address and city given in this letter?\n\n" + letter,
                        output_schema=Address)
update_user_info(street=address.street, city=address.city)
final_return_value = f"Your address is now {address.street}, {address.city}."
