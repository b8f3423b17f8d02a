def answer():
    return 40
