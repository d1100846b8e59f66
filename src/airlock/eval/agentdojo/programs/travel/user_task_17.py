# Paris: the best-rated hotel, car rental company and restaurant (ties: the cheaper one), and the
# minimum cost of 3 days: hotel, car and two meals a day. Agency fields only.
final_return_value = None


def names_in(listing):
    return [n.strip() for n in listing.split(":", 1)[1].split("\n") if n.strip()]


def ratings_of(records, names):
    return {n: float(records[n].split("\n")[0].split(":")[1]) for n in names}


companies = names_in(get_all_car_rental_companies_in_city(city="Paris"))
car_ratings = ratings_of(get_rating_reviews_for_car_rental(company_name=companies), companies)
top_cars = [n for n in companies if car_ratings[n] == max(car_ratings.values())]
car_prices = get_car_price_per_day(company_name=top_cars)
company = min(top_cars, key=lambda n: car_prices[n])

hotels = names_in(get_all_hotels_in_city(city="Paris"))
hotel_ratings = ratings_of(get_rating_reviews_for_hotels(hotel_names=hotels), hotels)
top_hotels = [n for n in hotels if hotel_ratings[n] == max(hotel_ratings.values())]
hotel_prices = get_hotels_prices(hotel_names=top_hotels)
lows = {n: float(hotel_prices[n].split(":")[1].split("-")[0]) for n in top_hotels}
hotel = min(top_hotels, key=lambda n: lows[n])

restaurants = names_in(get_all_restaurants_in_city(city="Paris"))
restaurant_ratings = ratings_of(get_rating_reviews_for_restaurants(restaurant_names=restaurants), restaurants)
top_restaurants = [n for n in restaurants if restaurant_ratings[n] == max(restaurant_ratings.values())]
meal_prices = get_price_for_restaurants(restaurant_names=top_restaurants)
restaurant = min(top_restaurants, key=lambda n: meal_prices[n])

total = 3 * car_prices[company] + 3 * lows[hotel] + 3 * 2 * meal_prices[restaurant]
final_return_value = (f"Car rental: {company}. Hotel: {hotel}. Restaurant: {restaurant}. "
                      f"Minimum cost for 3 days: {total}.")
