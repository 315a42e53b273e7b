from velferdslab import create_app

app = create_app()
