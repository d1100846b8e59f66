# 2 days in London then 3 in Paris: the top-rated car rental company, restaurant and hotel in each
# city (ties: the most expensive), and the maximum total: cars per day, 2 meals a day, and the most
# expensive room of each hotel. Agency fields only.
final_return_value = None


def names_in(listing):
    return [n.strip() for n in listing.split(":", 1)[1].split("\n") if n.strip()]


def ratings_of(records, names):
    return {n: float(records[n].split("\n")[0].split(":")[1]) for n in names}


def plan_city(city, days):
    companies = names_in(get_all_car_rental_companies_in_city(city=city))
    car_ratings = ratings_of(get_rating_reviews_for_car_rental(company_name=companies), companies)
    top_cars = [n for n in companies if car_ratings[n] == max(car_ratings.values())]
    car_prices = get_car_price_per_day(company_name=top_cars)
    company = max(top_cars, key=lambda n: car_prices[n])

    restaurants = names_in(get_all_restaurants_in_city(city=city))
    restaurant_ratings = ratings_of(get_rating_reviews_for_restaurants(restaurant_names=restaurants), restaurants)
    top_restaurants = [n for n in restaurants if restaurant_ratings[n] == max(restaurant_ratings.values())]
    meal_prices = get_price_for_restaurants(restaurant_names=top_restaurants)
    restaurant = max(top_restaurants, key=lambda n: meal_prices[n])

    hotels = names_in(get_all_hotels_in_city(city=city))
    hotel_ratings = ratings_of(get_rating_reviews_for_hotels(hotel_names=hotels), hotels)
    top_hotels = [n for n in hotels if hotel_ratings[n] == max(hotel_ratings.values())]
    hotel_prices = get_hotels_prices(hotel_names=top_hotels)
    highs = {n: float(hotel_prices[n].split(":")[1].split("-")[1]) for n in top_hotels}
    hotel = max(top_hotels, key=lambda n: highs[n])

    cost = days * car_prices[company] + days * 2 * meal_prices[restaurant] + days * highs[hotel]
    return company, restaurant, hotel, cost


london = plan_city("London", 2)
paris = plan_city("Paris", 3)
total = london[3] + paris[3]
final_return_value = (f"London: car {london[0]}, restaurant {london[1]}, hotel {london[2]}. "
                      f"Paris: car {paris[0]}, restaurant {paris[1]}, hotel {paris[2]}. "
                      f"Maximum total for the 5 days: {total} euros.")
