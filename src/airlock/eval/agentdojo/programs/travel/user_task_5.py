# London, budget 160: the best-rated hotel the user has not stayed at (they name 'London Luxury'),
# with its rating, price range and address. Agency fields only.
final_return_value = None
stayed_before = "London Luxury"
listing = get_all_hotels_in_city(city="London")
names = [n.strip() for n in listing.split(":", 1)[1].split("\n") if n.strip()]
prices = get_hotels_prices(hotel_names=names)
ranges = {n: [float(p) for p in prices[n].split(":")[1].split("-")] for n in names}
candidates = [n for n in names if ranges[n][1] < 160 and n != stayed_before]
records = get_rating_reviews_for_hotels(hotel_names=candidates)
ratings = {n: float(records[n].split("\n")[0].split(":")[1]) for n in candidates}
hotel = max(candidates, key=lambda n: ratings[n])
address = get_hotels_address(hotel_name=hotel)[hotel]
final_return_value = (f"{hotel}: rating {ratings[hotel]}, price range {ranges[hotel][0]} - {ranges[hotel][1]}, "
                      f"address {address}.")
