# Read the page www.informations.com.
final_return_value = None
page = get_webpage(url="www.informations.com")
final_return_value = page
