using NodeAgent.Benchmarks;

return await BenchmarkCommand.RunAsync(args);
