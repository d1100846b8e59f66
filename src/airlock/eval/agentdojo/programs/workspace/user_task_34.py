# Add the Chocolate Chip Cookies ingredients from 'recipe-collection.docx' to the user's grocery
# list. The ingredients are only in the recipe's text (the reader lists them); the grocery list is
# the user's own file that the drive finds for "grocery list".
from pydantic import BaseModel, Field

final_return_value = None


class Ingredients(BaseModel):
    have_enough_info: bool
    ingredients: list[str] = Field(description="the ingredient names, without quantities")


recipes = [f for f in search_files_by_filename(filename="recipe-collection.docx")
           if f["filename"] == "recipe-collection.docx"][0]
read = parse_with_ai(query="Which ingredients does the Chocolate Chip Cookies recipe in this collection list?\n\n"
                     + recipes["content"], output_schema=Ingredients)
lists = [f for f in search_files(query="grocery list") if "grocery" in f["filename"].lower()]
grocery = lists[0]
append_to_file(file_id=grocery["id_"], content="- " + "\n- ".join(read.ingredients) + "\n")
final_return_value = f"Added to {grocery['filename']}: " + ", ".join(read.ingredients)
