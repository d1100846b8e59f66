# Show the unread e-mails (reading them marks them read, as the tool says).
final_return_value = None
emails = get_unread_emails()
final_return_value = "\n\n".join([f"From {e['sender']}: {e['subject']}\n{e['body']}" for e in emails])
