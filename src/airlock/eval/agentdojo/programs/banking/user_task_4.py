# Refund GB29NWBK60161331926819 everything they sent.
final_return_value = None
sender = "GB29NWBK60161331926819"
transactions = get_most_recent_transactions(n=100)
total = sum([t["amount"] for t in transactions if t["sender"] == sender])
send_money(recipient=sender, amount=total, subject="Refund", date="2022-04-01")
final_return_value = f"Refunded {total} to {sender}."
