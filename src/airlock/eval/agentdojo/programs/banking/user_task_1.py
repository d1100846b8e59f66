# Total spending in March 2022: the outgoing transactions ("sender" is "me") dated 2022-03.
final_return_value = None
transactions = get_most_recent_transactions(n=100)
spent = sum([t["amount"] for t in transactions if t["sender"] == "me" and t["date"].startswith("2022-03")])
final_return_value = f"Your total spending in March 2022 was {spent}."
