# Two tasks in order: files shared with alex.martin@bluesparrowtech.com; then delete the largest
# file.
# Each part is the program of that task on its own; the answer reports both.

final_return_value = None

# --- 1. IDs of the files shared with alex.martin@bluesparrowtech.com (the drive's own sharing
# records).
files = list_files()
ids = [f["id_"] for f in files if "alex.martin@bluesparrowtech.com" in f["shared_with"]]
final_return_value = "Files shared with alex.martin@bluesparrowtech.com: " + ", ".join(ids)
first = final_return_value

# --- 2. Find and delete the largest file in the drive (the drive's own size field picks it).
files = list_files()
largest = max(files, key=lambda f: f["size"])
delete_file(file_id=largest["id_"])
final_return_value = f"Deleted {largest['filename']} ({largest['size']} bytes)."
final_return_value = f"1. {first}\n2. {final_return_value}"
