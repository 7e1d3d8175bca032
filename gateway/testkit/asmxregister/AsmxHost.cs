// A minimal ASP.NET host for the test register: System.Net.HttpListener on
// loopback hands each request to ASP.NET (System.Web's HttpRuntime, in an
// application domain made by ApplicationHost), which runs the .asmx web
// service through System.Web.Services as any ASP.NET server does.
//
// Why not xsp4: Debian 12's mono-xsp4 (4.2) does not start on its Mono 6.8
// (TypeLoadException for Mono.Security.Protocol.Tls.PrivateKeySelectionCallback,
// mono/mono#18500); xsp's own server classes need that type. This host uses
// the same hosting API as xsp (ApplicationHost + a SimpleWorkerRequest), with
// HttpListener for the socket.
//
//   mono AsmxHost.exe PORT SITE_DIR    (AsmxHost.exe must also be in SITE_DIR/bin)
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Threading;
using System.Web;
using System.Web.Hosting;

[Serializable]
public class Answer
{
    public int Status = 200;
    public string Reason = "OK";
    public List<string[]> Headers = new List<string[]>();
    public byte[] Body = new byte[0];
}

// Worker lives in the ASP.NET application domain.
public class Worker : MarshalByRefObject
{
    public override object InitializeLifetimeService() { return null; }

    public Answer Process(string verb, string page, string query, string[][] headers, byte[] body)
    {
        var wr = new ListenerWorkerRequest(verb, page, query, headers, body);
        HttpRuntime.ProcessRequest(wr);
        wr.Done.WaitOne();
        return wr.Result;
    }
}

class ListenerWorkerRequest : SimpleWorkerRequest
{
    readonly string verb;
    readonly string[][] headers;
    readonly byte[] body;
    readonly MemoryStream output = new MemoryStream();
    public readonly Answer Result = new Answer();
    public readonly ManualResetEvent Done = new ManualResetEvent(false);

    public ListenerWorkerRequest(string verb, string page, string query, string[][] headers, byte[] body)
        : base(page, query, TextWriter.Null)
    {
        this.verb = verb;
        this.headers = headers;
        this.body = body;
    }

    public override string GetHttpVerbName() { return verb; }
    public override string GetHttpVersion() { return "HTTP/1.1"; }
    public override string GetRemoteAddress() { return "127.0.0.1"; }
    public override string GetLocalAddress() { return "127.0.0.1"; }
    public override string GetKnownRequestHeader(int index) { return Header(GetKnownRequestHeaderName(index)); }
    public override string GetUnknownRequestHeader(string name) { return Header(name); }

    public override string[][] GetUnknownRequestHeaders()
    {
        var l = new List<string[]>();
        foreach (var h in headers)
            if (GetKnownRequestHeaderIndex(h[0]) < 0) l.Add(h);
        return l.ToArray();
    }

    string Header(string name)
    {
        foreach (var h in headers)
            if (string.Equals(h[0], name, StringComparison.OrdinalIgnoreCase)) return h[1];
        return null;
    }

    public override byte[] GetPreloadedEntityBody() { return body; }
    public override int GetPreloadedEntityBodyLength() { return body.Length; }
    public override int GetTotalEntityBodyLength() { return body.Length; }
    public override bool IsEntireEntityBodyIsPreloaded() { return true; }
    public override int ReadEntityBody(byte[] buffer, int size) { return 0; }
    public override void SendStatus(int code, string reason) { Result.Status = code; Result.Reason = reason; }
    public override void SendKnownResponseHeader(int index, string value) { Result.Headers.Add(new[] { GetKnownResponseHeaderName(index), value }); }
    public override void SendUnknownResponseHeader(string name, string value) { Result.Headers.Add(new[] { name, value }); }
    public override void SendResponseFromMemory(byte[] data, int length) { output.Write(data, 0, length); }
    public override void FlushResponse(bool finalFlush) { }

    public override void EndOfRequest()
    {
        Result.Body = output.ToArray();
        Done.Set();
    }
}

public static class AsmxHost
{
    public static int Main(string[] args)
    {
        int port = int.Parse(args[0]);
        string root = Path.GetFullPath(args[1]);
        var worker = (Worker)ApplicationHost.CreateApplicationHost(typeof(Worker), "/", root);
        var listener = new HttpListener();
        listener.Prefixes.Add("http://127.0.0.1:" + port + "/");
        listener.Start();
        Console.WriteLine("listening on 127.0.0.1:" + port);
        while (true)
        {
            var ctx = listener.GetContext();
            ThreadPool.QueueUserWorkItem(_ => Serve(worker, ctx));
        }
    }

    static void Serve(Worker worker, HttpListenerContext ctx)
    {
        try
        {
            var req = ctx.Request;
            var body = new MemoryStream();
            req.InputStream.CopyTo(body);
            var hs = new List<string[]>();
            foreach (string k in req.Headers.AllKeys) hs.Add(new[] { k, req.Headers[k] });
            string query = req.Url.Query.Length > 0 ? req.Url.Query.Substring(1) : "";
            var a = worker.Process(req.HttpMethod, req.Url.AbsolutePath.TrimStart('/'), query, hs.ToArray(), body.ToArray());
            var resp = ctx.Response;
            resp.StatusCode = a.Status;
            resp.StatusDescription = a.Reason;
            foreach (var h in a.Headers)
            {
                if (h[0].Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) continue;
                if (h[0].Equals("Content-Type", StringComparison.OrdinalIgnoreCase)) { resp.ContentType = h[1]; continue; }
                resp.AddHeader(h[0], h[1]);
            }
            resp.ContentLength64 = a.Body.Length;
            resp.OutputStream.Write(a.Body, 0, a.Body.Length);
            resp.Close();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine(e);
            try { ctx.Response.StatusCode = 500; ctx.Response.Close(); } catch { }
        }
    }
}
