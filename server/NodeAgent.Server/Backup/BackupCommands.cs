using System.CommandLine;
using System.Text.Json;
using NodeAgent.Server.Files;
using NodeAgent.Server.Hosting;

namespace NodeAgent.Server.Backup;

/// <summary><c>plan-server export</c> and <c>plan-server import</c>: the server's own state out of a data dir and into a new one.</summary>
internal static class BackupCommands
{
    public static RootCommand AddTo(RootCommand root)
    {
        root.Subcommands.Add(Export());
        root.Subcommands.Add(Import());
        return root;
    }

    private static Option<string> DataDir(string description) => new("--data-dir")
    {
        Description = description,
        DefaultValueFactory = _ => PlanServerOptions.DefaultDataDir,
    };

    private static Command Export()
    {
        var dataDir = DataDir("The data dir to export (its server may be running: the records are read from one point in time).");
        var output = new Option<string>("--output", "-o")
        {
            Description = "Write to this file (mode 0600, written whole as FILE.part and then renamed; it must not exist) instead of standard output.",
        };
        var store = new StoreCommandLine();
        var command = new Command("export",
            "Writes the server's state as JSON: clusters (with bootstrap tokens and S3 settings), nodes, operations, the snapshot catalog, "
            + "the admin token and the CA that agents pin. It holds secrets: keep it as you keep the data dir. `plan-server import` reads it. "
            + "With --store etcd it reads the etcd store (every record at one revision; the replicas may run) instead of DATA_DIR.")
        {
            dataDir,
            output,
        };
        store.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            if (!store.TryParse(parse, out var etcd, out var storeError))
            {
                await Console.Error.WriteLineAsync($"plan-server: {storeError}");
                return 2;
            }
            try
            {
                var document = etcd is null
                    ? await ServerStateExport.ReadAsync(parse.GetValue(dataDir)!, TimeProvider.System, ct)
                    : await ServerStateExport.ReadAsync(etcd, TimeProvider.System, ct);
                if (parse.GetValue(output) is { } path)
                {
                    await WriteFileAsync(path, document, ct);
                }
                else
                {
                    await using var stream = Console.OpenStandardOutput();
                    await JsonSerializer.SerializeAsync(stream, document, ServerStateJsonContext.Default.ServerStateDocument, ct);
                    await stream.FlushAsync(ct);
                }
                await Console.Error.WriteLineAsync(
                    $"plan-server: exported {document.Clusters.Count} clusters, {document.Nodes.Count} nodes, {document.Operations.Count} operations, {document.Snapshots.Count} catalog entries");
                return 0;
            }
            catch (Exception ex) when (ex is ServerStateException or IOException or UnauthorizedAccessException or Errors.StartupRefusedException)
            {
                await Console.Error.WriteLineAsync($"plan-server: export failed: {ex.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>Writes <c>PATH.part</c> (0600), fsyncs it and renames it to <paramref name="path"/>, which must not exist: a cut export never has the final name.</summary>
    private static async Task WriteFileAsync(string path, ServerStateDocument document, CancellationToken cancellationToken)
    {
        if (File.Exists(path) || Directory.Exists(path))
        {
            throw new IOException($"{path} exists; give a new file");
        }
        var part = path + ".part";
        try
        {
            await using (var stream = PrivateFile.CreateNew(part))
            {
                await JsonSerializer.SerializeAsync(stream, document, ServerStateJsonContext.Default.ServerStateDocument, cancellationToken);
                stream.Flush(flushToDisk: true);
            }
            File.Move(part, path, overwrite: false);
        }
        catch
        {
            File.Delete(part);
            throw;
        }
    }

    private static Command Import()
    {
        var dataDir = DataDir("The new data dir (missing or empty) to write the state into; start plan-server on it afterwards.");
        var input = new Option<string>("--input", "-i")
        {
            Description = "Read this file instead of standard input.",
        };
        var store = new StoreCommandLine();
        var command = new Command("import",
            "Reads what `plan-server export` wrote into a new data dir, or with --store etcd into an empty prefix of an etcd store "
            + "(replicas started on it take the admin token and CA from there; DATA_DIR is not used). Agents keep their credentials and operators their token.")
        {
            dataDir,
            input,
        };
        store.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            if (!store.TryParse(parse, out var etcd, out var storeError))
            {
                await Console.Error.WriteLineAsync($"plan-server: {storeError}");
                return 2;
            }
            var target = etcd is null ? parse.GetValue(dataDir)! : $"the etcd store under {etcd.Prefix}";
            try
            {
                var path = parse.GetValue(input);
                ServerStateDocument? document;
                await using (var stream = path is null ? Console.OpenStandardInput() : File.OpenRead(path))
                {
                    document = await JsonSerializer.DeserializeAsync(stream, ServerStateJsonContext.Default.ServerStateDocument, ct);
                }
                document = document ?? throw new ServerStateException("the input is empty");
                if (etcd is null)
                {
                    await ServerStateImport.WriteAsync(document, target, ct);
                }
                else
                {
                    await ServerStateImport.WriteAsync(document, etcd, ct);
                }
                await Console.Error.WriteLineAsync(
                    $"plan-server: imported {document.Clusters.Count} clusters, {document.Nodes.Count} nodes, {document.Operations.Count} operations, {document.Snapshots.Count} catalog entries into {target}");
                return 0;
            }
            catch (JsonException ex)
            {
                await Console.Error.WriteLineAsync($"plan-server: import failed: the input is not a plan-server export ({ex.Message})");
                return 1;
            }
            catch (Exception ex) when (ex is ServerStateException or IOException or UnauthorizedAccessException or FormatException or Google.Protobuf.InvalidProtocolBufferException or Errors.StartupRefusedException)
            {
                await Console.Error.WriteLineAsync($"plan-server: import failed: {ex.Message}");
                return 1;
            }
        });
        return command;
    }
}
