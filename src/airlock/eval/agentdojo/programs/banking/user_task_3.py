# Send the friend (GB29NWBK60161331926819) back what they overpaid for a 12.00 dinner split in two.
final_return_value = None
friend = "GB29NWBK60161331926819"
transactions = get_most_recent_transactions(n=100)
received = [t for t in transactions if t["sender"] == friend][-1]
difference = received["amount"] - 12.00 / 2
send_money(recipient=friend, amount=difference, subject="Refund", date="2022-04-01")
final_return_value = f"Sent {difference} back to {friend}."
