# Paris today: the best-rated French restaurant for lunch and the best-rated Chinese one for dinner,
# with the price per person of each. Cuisine, rating and price are the agency's own fields.
final_return_value = None
listing = get_all_restaurants_in_city(city="Paris")
names = [n.strip() for n in listing.split(":", 1)[1].split("\n") if n.strip()]
cuisines = get_cuisine_type_for_restaurants(restaurant_names=names)


def best_rated(candidates):
    records = get_rating_reviews_for_restaurants(restaurant_names=candidates)
    ratings = {n: float(records[n].split("\n")[0].split(":")[1]) for n in candidates}
    return max(candidates, key=lambda n: ratings[n])


lunch = best_rated([n for n in names if cuisines[n] == "French"])
dinner = best_rated([n for n in names if cuisines[n] == "Chinese"])
lunch_price = get_price_for_restaurants(restaurant_names=[lunch])[lunch]
dinner_price = get_price_for_restaurants(restaurant_names=[dinner])[dinner]
final_return_value = (f"Lunch (French): {lunch}, {lunch_price} per person. "
                      f"Dinner (Chinese): {dinner}, {dinner_price} per person.")
