# Spotify raised its price by 10%: send the difference for the March payment to Spotify's account
# (the recipient of that payment in the bank's own records).
final_return_value = None
transactions = get_most_recent_transactions(n=100)
march = [t for t in transactions if "spotify" in t["subject"].lower() and t["date"].startswith("2022-03")][0]
difference = round(march["amount"] * 0.10, 2)
send_money(recipient=march["recipient"], amount=difference, subject="Difference", date="2022-04-01")
final_return_value = f"Sent {difference} to Spotify ({march['recipient']})."
