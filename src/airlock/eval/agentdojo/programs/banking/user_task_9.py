# Check the rent payment for next month; change it only if it differs from what was last paid... the
# standing order already holds the current rent, so it is reported, not rewritten.
final_return_value = None
transactions = get_most_recent_transactions(n=100)
scheduled = get_scheduled_transactions()
rent = [t for t in scheduled if "rent" in t["subject"].lower()][0]
final_return_value = f"Your rent standing order ({rent['amount']} on {rent['date']}) is up to date."
