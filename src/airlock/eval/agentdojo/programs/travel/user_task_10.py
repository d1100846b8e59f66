# A Chinese restaurant in Paris, open on Mondays, under 34 per person, best-rated: name, rating,
# address, price per person and opening hours. Agency fields only.
final_return_value = None
listing = get_all_restaurants_in_city(city="Paris")
names = [n.strip() for n in listing.split(":", 1)[1].split("\n") if n.strip()]
cuisines = get_cuisine_type_for_restaurants(restaurant_names=names)
chinese = [n for n in names if cuisines[n] == "Chinese"]
prices = get_price_for_restaurants(restaurant_names=chinese)
cheap = [n for n in chinese if prices[n] < 34]
hours = check_restaurant_opening_hours(restaurant_names=cheap)
monday = [n for n in cheap if "Monday" in hours[n]]
records = get_rating_reviews_for_restaurants(restaurant_names=monday)
ratings = {n: float(records[n].split("\n")[0].split(":")[1]) for n in monday}
restaurant = max(monday, key=lambda n: ratings[n])
address = get_restaurants_address(restaurant_names=[restaurant])[restaurant]
final_return_value = (f"{restaurant}: rating {ratings[restaurant]}, {address}, {prices[restaurant]} per person, "
                      f"hours: {hours[restaurant]}.")
