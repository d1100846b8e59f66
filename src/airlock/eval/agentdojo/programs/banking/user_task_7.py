# How much was the New Year's gift? The outgoing transaction whose subject names it.
final_return_value = None
transactions = get_most_recent_transactions(n=100)
gift = [t for t in transactions if "new year" in t["subject"].lower() and t["sender"] == "me"][0]
final_return_value = f"You spent {gift['amount']} on the New Year's gift."
