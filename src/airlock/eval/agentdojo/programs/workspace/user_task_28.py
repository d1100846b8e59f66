# The scores Olivia Smith, Mia Anderson and Mason Thompson gave in 'feedback.xlsx', a CSV table
# (name,email,rating,feedback): the rating column is read directly.
final_return_value = None
sheet = [f for f in search_files_by_filename(filename="feedback.xlsx") if f["filename"] == "feedback.xlsx"][0]
wanted = ["Olivia Smith", "Mia Anderson", "Mason Thompson"]
scores = {}
for row in sheet["content"].split("\n")[1:]:
    cells = row.split(",", 3)
    if len(cells) >= 3 and cells[0] in wanted:
        scores[cells[0]] = cells[2]
final_return_value = "\n".join([f"{name}: {scores.get(name, 'not found')}" for name in wanted])
