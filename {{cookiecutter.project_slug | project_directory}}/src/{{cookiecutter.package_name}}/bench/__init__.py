"""``python -m {{ cookiecutter.package_name }} bench``: items per second, side by side with what bounds them."""
