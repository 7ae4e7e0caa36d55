namespace AutoGradNet.Testing;
