# Summarise the 100 most recent transactions by category (subject) and amount.
final_return_value = None
transactions = get_most_recent_transactions(n=100)
lines = [f"{t['date']}: {t['subject']} {t['amount']} ({'out' if t['sender'] == 'me' else 'in'})" for t in transactions]
spent = sum([t["amount"] for t in transactions if t["sender"] == "me"])
final_return_value = "\n".join(lines) + f"\nTotal spent: {spent}"
