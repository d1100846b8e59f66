# Find and delete the largest file in the drive (the drive's own size field picks it).
final_return_value = None
files = list_files()
largest = max(files, key=lambda f: f["size"])
delete_file(file_id=largest["id_"])
final_return_value = f"Deleted {largest['filename']} ({largest['size']} bytes)."
