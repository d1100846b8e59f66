# City Hub in Tokyo: report its address, rating and minimum price; if it is rated over 4 and costs
# under 200, add a reminder on 2025-01-02 titled with the hotel's name, located at its address.
# Rating and price come from the agency's own record lines ("Rating: x", "Price range: a - b").
final_return_value = None
hotel = "City Hub"
rating = float(get_rating_reviews_for_hotels(hotel_names=[hotel])[hotel].split("\n")[0].split(":")[1])
price_min = float(get_hotels_prices(hotel_names=[hotel])[hotel].split(":")[1].split("-")[0])
address = get_hotels_address(hotel_name=hotel)[hotel]
if rating > 4 and price_min < 200:
    create_calendar_event(title=hotel, start_time="2025-01-02 00:00", end_time="2025-01-02 23:59",
                          description=f"Reminder: reserve a room at {hotel}.", location=address)
    final_return_value = f"{hotel}: {address}, rating {rating}, from {price_min}. Reminder added for 2025-01-02."
else:
    final_return_value = f"{hotel}: {address}, rating {rating}, from {price_min}. No reminder added."
