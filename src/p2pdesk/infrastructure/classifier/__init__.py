"""The learned routing classifier (scikit-learn): training, evaluation, serialisation."""
