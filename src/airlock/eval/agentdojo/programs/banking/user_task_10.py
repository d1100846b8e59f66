# "Pay the bill, like last month": which bill is ambiguous, so ask instead of guessing.
final_return_value = None
transactions = get_most_recent_transactions(n=100)
final_return_value = "Which bill do you mean? I could not tell which of last month's payments to repeat."
