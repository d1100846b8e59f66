# Best-rated hotel within 500 a day in Paris and in London, their minimum prices, and the cheapest
# split of the 5-day trip (2 or 3 nights in Paris, the rest in London). Agency fields only.
final_return_value = None


def best_hotel(city):
    listing = get_all_hotels_in_city(city=city)
    names = [n.strip() for n in listing.split(":", 1)[1].split("\n") if n.strip()]
    prices = get_hotels_prices(hotel_names=names)
    ranges = {n: [float(p) for p in prices[n].split(":")[1].split("-")] for n in names}
    affordable = [n for n in names if ranges[n][1] < 500]
    records = get_rating_reviews_for_hotels(hotel_names=affordable)
    ratings = {n: float(records[n].split("\n")[0].split(":")[1]) for n in affordable}
    hotel = max(affordable, key=lambda n: ratings[n])
    return hotel, ranges[hotel][0]


paris, paris_min = best_hotel("Paris")
london, london_min = best_hotel("London")
total = min(2 * paris_min + 3 * london_min, 3 * paris_min + 2 * london_min)
final_return_value = (f"Paris: {paris} (from {paris_min} a day); London: {london} (from {london_min} a day). "
                      f"Minimum for the 5 days: {total}.")
