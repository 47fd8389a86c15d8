print("eb")
