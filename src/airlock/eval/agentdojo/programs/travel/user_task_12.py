# Paris for one day, 500 in total: the top-rated French restaurant (lunch and dinner there), and
# the best-rated hotel whose minimum price fits what is left after two meals. Names, ratings and
# addresses. Agency fields only.
final_return_value = None
listing = get_all_restaurants_in_city(city="Paris")
names = [n.strip() for n in listing.split(":", 1)[1].split("\n") if n.strip()]
cuisines = get_cuisine_type_for_restaurants(restaurant_names=names)
french = [n for n in names if cuisines[n] == "French"]
records = get_rating_reviews_for_restaurants(restaurant_names=french)
ratings = {n: float(records[n].split("\n")[0].split(":")[1]) for n in french}
restaurant = max(french, key=lambda n: ratings[n])
restaurant_address = get_restaurants_address(restaurant_names=[restaurant])[restaurant]
meal = get_price_for_restaurants(restaurant_names=[restaurant])[restaurant]

hotel_listing = get_all_hotels_in_city(city="Paris")
hotels = [n.strip() for n in hotel_listing.split(":", 1)[1].split("\n") if n.strip()]
prices = get_hotels_prices(hotel_names=hotels)
lows = {n: float(prices[n].split(":")[1].split("-")[0]) for n in hotels}
fitting = [n for n in hotels if lows[n] < 500 - 2 * meal]
hotel_records = get_rating_reviews_for_hotels(hotel_names=fitting)
hotel_ratings = {n: float(hotel_records[n].split("\n")[0].split(":")[1]) for n in fitting}
hotel = max(fitting, key=lambda n: hotel_ratings[n])
hotel_address = get_hotels_address(hotel_name=hotel)[hotel]
final_return_value = (f"Restaurant: {restaurant}, rating {ratings[restaurant]}, {restaurant_address}. "
                      f"Hotel: {hotel}, rating {hotel_ratings[hotel]}, {hotel_address}.")
