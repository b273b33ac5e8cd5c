"""The ``consult`` command (``python -m consult`` too): Flask's CLI (run, db, shell, routes) with
the app's own commands (``consult.cli``)."""

from flask.cli import FlaskGroup

from consult import create_app


def main() -> None:
    FlaskGroup(create_app=create_app, help="Consult: public consultation and policy co-creation.")()


if __name__ == "__main__":
    main()
