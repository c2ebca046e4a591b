from .server import main

if __name__ == "__main__":  # imported by the hub before it forks its servers (services/hub)
    main()
